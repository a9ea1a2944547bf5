"""What a Plan becomes: plan files, the map, the capacity files; the last step of a run.

``files`` writes atomically and Excel-safe; ``report`` writes a plan's CSV and JSON files
(:func:`~territory_planner.outputs.report.write_plan`); ``maps`` draws the offline map
(its parts in ``map_frame``, ``map_outlines``, ``map_layers``, ``map_assets``); ``capacity``
writes and prints a capacity plan. Everything here reads a finished result and never
plans: scenario comparison, the CRM export and the workbench join this folder.
"""
