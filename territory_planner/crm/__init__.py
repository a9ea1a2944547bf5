"""The CRM's formats both ways: reading its exports into planner inputs, writing a Plan as its load files.

An edge of the flow, like outputs/: the import (``*_import.py``, shared pieces in
``importing.py``) reads a CRM's own export files (Salesforce, HubSpot, Dynamics 365) into
``accounts.csv``, ``reps.csv`` and a starter scenario, keeping the CRM's ids (``crm_id``);
the export (``*_export.py``) writes a plan back as the files the CRM loads. The names
both sides use — objects, fields, headers — live in ``formats.py``; ``samples.py`` makes
the synthetic sample exports in ``scenarios/crm_sample/`` from the demo data.

>>> from territory_planner.crm import import_salesforce, write_import   # doctest: +SKIP
>>> write_import(import_salesforce("Account.csv", "User.csv"), "out/crm")  # doctest: +SKIP
"""

from territory_planner.crm.dynamics_import import import_dynamics
from territory_planner.crm.hubspot_import import import_hubspot
from territory_planner.crm.importing import Imported, ImportOptions, write_import
from territory_planner.crm.salesforce_import import import_salesforce

__all__ = ["ImportOptions", "Imported", "import_dynamics", "import_hubspot", "import_salesforce", "write_import"]
