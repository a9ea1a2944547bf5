"""The CRMs' own names: objects, fields and export headers, shared by import and export.

Each class below is one CRM object (or export) and holds its field names exactly as the
CRM writes them: Salesforce API names (Data Loader, Workbench, the REST API), HubSpot's
import/export column labels, Dynamics 365 logical names (Dataverse / Web API). Readers
accept the headers in ``HEADERS`` too: the same field as other exports of the same CRM
label it (a Salesforce report's "Billing Zip/Postal Code", a HubSpot property's internal
name ``zip``, Dynamics' "Export to Excel" label "Address 1: City" or the Web API's
``_ownerid_value``). Headers match without regard to case, because Data Loader writes them
in capitals (``BILLINGPOSTALCODE``).

Sources: Salesforce Object Reference (Account, User, Territory2,
ObjectTerritory2Association, UserTerritory2Association); HubSpot knowledge base "Import
companies" and the CRM owners API (``/crm/v3/owners``: id, email, firstName, lastName,
archived); Dynamics 365 / Dataverse table reference (account, systemuser, territory).
FIELD.md §5 summarises how each CRM keeps an alignment.

>>> salesforce_id18("0015g00000AbCdE")
'0015g00000AbCdEAAV'
>>> salesforce_id18("0015g00000AbCdEAAV"), salesforce_id18("not-an-id")
('0015g00000AbCdEAAV', 'not-an-id')
"""

from __future__ import annotations

import re

#: The column of the planner's accounts.csv and reps.csv in which an import records the CRM
#: its ids come from ("salesforce", "hubspot", "dynamics"); an export to another CRM refuses them.
SOURCE_COLUMN = "crm"


class SalesforceAccount:
    """Account: the company a rep sells to; ``OwnerId`` is today's owner (a User Id)."""

    OBJECT = "Account"
    ID = "Id"
    NAME = "Name"
    BILLING_STREET = "BillingStreet"
    BILLING_CITY = "BillingCity"
    BILLING_STATE = "BillingState"
    BILLING_STATE_CODE = "BillingStateCode"
    BILLING_POSTAL_CODE = "BillingPostalCode"
    BILLING_COUNTRY = "BillingCountry"
    BILLING_LATITUDE = "BillingLatitude"
    BILLING_LONGITUDE = "BillingLongitude"
    ANNUAL_REVENUE = "AnnualRevenue"
    NUMBER_OF_EMPLOYEES = "NumberOfEmployees"
    INDUSTRY = "Industry"
    TYPE = "Type"
    OWNER_ID = "OwnerId"


class SalesforceUser:
    """User: a rep (or anyone else with a login); ``IsActive`` false for people who left."""

    OBJECT = "User"
    ID = "Id"
    NAME = "Name"
    FIRST_NAME = "FirstName"
    LAST_NAME = "LastName"
    USERNAME = "Username"
    EMAIL = "Email"
    TITLE = "Title"
    STREET = "Street"
    CITY = "City"
    STATE = "State"
    POSTAL_CODE = "PostalCode"
    COUNTRY = "Country"
    LATITUDE = "Latitude"
    LONGITUDE = "Longitude"
    IS_ACTIVE = "IsActive"


class SalesforceTerritory2:
    """Territory2: a territory of a territory model (Enterprise Territory Management)."""

    OBJECT = "Territory2"
    ID = "Id"
    NAME = "Name"
    DEVELOPER_NAME = "DeveloperName"
    MODEL_ID = "Territory2ModelId"
    TYPE_ID = "Territory2TypeId"
    PARENT_ID = "ParentTerritory2Id"
    ACCOUNT_ACCESS_LEVEL = "AccountAccessLevel"
    OPPORTUNITY_ACCESS_LEVEL = "OpportunityAccessLevel"
    CASE_ACCESS_LEVEL = "CaseAccessLevel"
    DESCRIPTION = "Description"


class SalesforceObjectTerritory2Association:
    """An account in a territory. Create and delete only: a move is a delete plus an insert."""

    OBJECT = "ObjectTerritory2Association"
    ID = "Id"
    OBJECT_ID = "ObjectId"
    TERRITORY2_ID = "Territory2Id"
    ASSOCIATION_CAUSE = "AssociationCause"
    SOBJECT_TYPE = "SobjectType"
    MANUAL = "Territory2Manual"  # the AssociationCause of an association loaded from a file


class SalesforceUserTerritory2Association:
    """A user in a territory, in a role (a picklist: Owner, Sales Rep, …)."""

    OBJECT = "UserTerritory2Association"
    ID = "Id"
    USER_ID = "UserId"
    TERRITORY2_ID = "Territory2Id"
    ROLE = "RoleInTerritory2"
    IS_ACTIVE = "IsActive"
    OWNER_ROLE = "Owner"


class HubSpotCompany:
    """A companies export (or import file): column labels as HubSpot writes them."""

    OBJECT = "companies"
    RECORD_ID = "Record ID"
    NAME = "Company name"
    OWNER = "Company owner"  # the owner's name or email in files; hubspot_owner_id in the API
    OWNER_ID_PROPERTY = "hubspot_owner_id"
    STREET = "Street Address"
    CITY = "City"
    STATE = "State/Region"
    POSTAL_CODE = "Postal Code"
    COUNTRY = "Country/Region"
    ANNUAL_REVENUE = "Annual Revenue"
    NUMBER_OF_EMPLOYEES = "Number of Employees"
    INDUSTRY = "Industry"
    LIFECYCLE_STAGE = "Lifecycle Stage"


class HubSpotOwner:
    """An owner (``/crm/v3/owners``): ``id`` is what ``hubspot_owner_id`` holds."""

    OBJECT = "owners"
    ID = "id"
    EMAIL = "email"
    FIRST_NAME = "firstName"
    LAST_NAME = "lastName"
    ARCHIVED = "archived"


class DynamicsAccount:
    """account (Dataverse logical names): ``ownerid`` → systemuser, ``territoryid`` → territory."""

    OBJECT = "account"
    ID = "accountid"
    NAME = "name"
    STREET = "address1_line1"
    CITY = "address1_city"
    STATE = "address1_stateorprovince"
    POSTAL_CODE = "address1_postalcode"
    COUNTRY = "address1_country"
    LATITUDE = "address1_latitude"
    LONGITUDE = "address1_longitude"
    REVENUE = "revenue"
    NUMBER_OF_EMPLOYEES = "numberofemployees"
    OWNER_ID = "ownerid"
    TERRITORY_ID = "territoryid"


class DynamicsSystemUser:
    """systemuser: a user; ``isdisabled`` true for people who left."""

    OBJECT = "systemuser"
    ID = "systemuserid"
    FULL_NAME = "fullname"
    FIRST_NAME = "firstname"
    LAST_NAME = "lastname"
    EMAIL = "internalemailaddress"
    CITY = "address1_city"
    STATE = "address1_stateorprovince"
    POSTAL_CODE = "address1_postalcode"
    COUNTRY = "address1_country"
    LATITUDE = "address1_latitude"
    LONGITUDE = "address1_longitude"
    IS_DISABLED = "isdisabled"
    TERRITORY_ID = "territoryid"


class DynamicsTerritory:
    """territory: ``managerid`` → systemuser, ``parentterritoryid`` → territory."""

    OBJECT = "territory"
    ID = "territoryid"
    NAME = "name"
    DESCRIPTION = "description"
    MANAGER_ID = "managerid"
    PARENT_ID = "parentterritoryid"


#: Other headers the CRMs write for a field (reports, UI exports, internal property names),
#: tried after the field's own name, in this order.
HEADERS: dict[tuple[str, str], tuple[str, ...]] = {
    # Salesforce reports (labels) and State/Country picklist orgs (…Code fields).
    ("Account", "Id"): ("Account ID",),
    ("Account", "Name"): ("Account Name",),
    ("Account", "BillingStreet"): ("Billing Street",),
    ("Account", "BillingCity"): ("Billing City",),
    ("Account", "BillingState"): ("BillingStateCode", "Billing State/Province", "Billing State/Province Code"),
    ("Account", "BillingPostalCode"): ("Billing Zip/Postal Code",),
    ("Account", "BillingCountry"): ("BillingCountryCode", "Billing Country", "Billing Country Code"),
    ("Account", "BillingLatitude"): ("Billing Latitude",),
    ("Account", "BillingLongitude"): ("Billing Longitude",),
    ("Account", "AnnualRevenue"): ("Annual Revenue",),
    ("Account", "OwnerId"): ("Owner ID", "Account Owner ID", "Account Owner"),
    ("User", "Id"): ("User ID",),
    ("User", "Name"): ("Full Name",),
    ("User", "FirstName"): ("First Name",),
    ("User", "LastName"): ("Last Name",),
    ("User", "City"): (),
    ("User", "State"): ("StateCode", "State/Province"),
    ("User", "PostalCode"): ("Zip/Postal Code",),
    ("User", "Country"): ("CountryCode",),
    ("User", "IsActive"): ("Active",),
    ("Territory2", "Id"): ("Territory ID",),
    ("Territory2", "Name"): ("Label", "Territory Label"),
    ("Territory2", "DeveloperName"): ("Territory Name", "API Name"),
    ("Territory2", "Territory2ModelId"): ("Territory Model ID",),
    ("Territory2", "Territory2TypeId"): ("Territory Type ID",),
    ("Territory2", "AccountAccessLevel"): ("Account Access Level",),
    ("Territory2", "OpportunityAccessLevel"): ("Opportunity Access Level",),
    ("Territory2", "CaseAccessLevel"): ("Case Access Level",),
    ("ObjectTerritory2Association", "Id"): ("Object Territory Association ID",),
    ("ObjectTerritory2Association", "ObjectId"): ("Object ID", "AccountId"),
    ("ObjectTerritory2Association", "Territory2Id"): ("Territory ID",),
    ("UserTerritory2Association", "Id"): ("User Territory Association ID",),
    ("UserTerritory2Association", "UserId"): ("User ID",),
    ("UserTerritory2Association", "Territory2Id"): ("Territory ID",),
    ("UserTerritory2Association", "RoleInTerritory2"): ("Role in Territory",),
    ("UserTerritory2Association", "IsActive"): ("Active",),
    # HubSpot: the internal property names (exports "with internal names", API dumps).
    ("companies", "Record ID"): ("hs_object_id", "Company ID"),
    ("companies", "Company name"): ("name",),
    ("companies", "Company owner"): ("hubspot_owner_id", "Company Owner"),
    ("companies", "Street Address"): ("address",),
    ("companies", "City"): ("city",),
    ("companies", "State/Region"): ("state",),
    ("companies", "Postal Code"): ("zip",),
    ("companies", "Country/Region"): ("country",),
    ("companies", "Annual Revenue"): ("annualrevenue",),
    ("owners", "id"): ("Owner ID", "ownerId", "hubspot_owner_id"),
    ("owners", "email"): ("Email",),
    ("owners", "firstName"): ("First Name",),
    ("owners", "lastName"): ("Last Name",),
    ("owners", "archived"): ("Archived",),
    # Dynamics 365: "Export to Excel" labels and the Web API's lookup values.
    ("account", "accountid"): ("(Do Not Modify) Account",),
    ("account", "name"): ("Account Name",),
    ("account", "address1_line1"): ("Address 1: Street 1",),
    ("account", "address1_city"): ("Address 1: City",),
    ("account", "address1_stateorprovince"): ("Address 1: State/Province",),
    ("account", "address1_postalcode"): ("Address 1: ZIP/Postal Code",),
    ("account", "address1_country"): ("Address 1: Country/Region",),
    ("account", "address1_latitude"): ("Address 1: Latitude",),
    ("account", "address1_longitude"): ("Address 1: Longitude",),
    ("account", "revenue"): ("Annual Revenue",),
    ("account", "ownerid"): ("_ownerid_value", "Owner"),
    ("account", "territoryid"): ("_territoryid_value", "Territory"),
    ("systemuser", "systemuserid"): ("(Do Not Modify) User",),
    ("systemuser", "fullname"): ("Full Name",),
    ("systemuser", "internalemailaddress"): ("Primary Email",),
    ("systemuser", "address1_city"): ("Address 1: City",),
    ("systemuser", "address1_stateorprovince"): ("Address 1: State/Province",),
    ("systemuser", "address1_postalcode"): ("Address 1: ZIP/Postal Code",),
    ("systemuser", "address1_country"): ("Address 1: Country/Region",),
    ("systemuser", "isdisabled"): ("Status",),
    ("systemuser", "territoryid"): ("_territoryid_value", "Territory"),
    ("territory", "territoryid"): ("(Do Not Modify) Territory",),
    ("territory", "name"): ("Territory Name",),
    ("territory", "managerid"): ("_managerid_value", "Manager"),
    ("territory", "parentterritoryid"): ("_parentterritoryid_value", "Parent"),
}


def headers(obj: str, field: str) -> tuple[str, ...]:
    """Every header that means ``field`` of ``obj``: its own name first, then HEADERS'.

    >>> headers("Account", "BillingPostalCode")
    ('BillingPostalCode', 'Billing Zip/Postal Code')
    """
    return (field, *HEADERS.get((obj, field), ()))


_SF_ID15 = re.compile(r"[A-Za-z0-9]{15}")
_SF_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id18(value: str) -> str:
    """A 15-character Salesforce Id as its 18-character form; anything else unchanged.

    Reports write the case-sensitive 15-character Id, Data Loader the 18-character one
    (the same Id plus three characters encoding the case of the first fifteen), so the
    two can meet in one import. Each suffix character encodes which of five characters
    are capitals, as bits, in the alphabet A–Z0–5.
    """
    if not _SF_ID15.fullmatch(value):
        return value
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(value[start:start + 5]) if "A" <= char <= "Z")
        suffix += _SF_SUFFIX[bits]
    return value + suffix


_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?")


def dynamics_id(value: str) -> str:
    """A Dynamics 365 GUID in one form: lower case, no braces; anything else unchanged.

    The Web API writes ``3f2504e0-…``, Excel exports and some tools ``{3F2504E0-…}``.

    >>> dynamics_id("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}")
    '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
    """
    match = _GUID.fullmatch(value)
    return match.group(1).lower() if match else value


# --------------------------------------------------------------------------- id shapes

#: Salesforce key prefixes (the first three characters of an Id) of the records an export writes.
SALESFORCE_PREFIXES = {"Account": "001", "User": "005", "Territory2": "0MI", "Territory2Model": "0MA",
                       "Territory2Type": "0M5"}
_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_DIGITS = re.compile(r"[0-9]{1,20}")


def is_salesforce_id(value: str, obj: str | None = None) -> bool:
    """A 15- or 18-character Salesforce Id (letters and digits), of ``obj`` when given
    (its key prefix: Account 001, User 005, Territory2 0MI, …).

    >>> is_salesforce_id("0015g00000AbCdEAAV", "Account"), is_salesforce_id("0055g00000AbCdE", "Account")
    (True, False)
    >>> is_salesforce_id("18003165910"), is_salesforce_id("0R05g00000AbCdEAAV", "ObjectTerritory2Association")
    (False, True)
    """
    if not isinstance(value, str) or not _SF_ID.fullmatch(value):
        return False
    prefix = SALESFORCE_PREFIXES.get(obj or "")
    return prefix is None or value.startswith(prefix)


def is_hubspot_id(value: str) -> bool:
    """A HubSpot record or owner id: digits only.

    >>> is_hubspot_id("18003165910"), is_hubspot_id("0015g00000AbCdEAAV")
    (True, False)
    """
    return isinstance(value, str) and bool(_DIGITS.fullmatch(value))


def is_dynamics_id(value: str) -> bool:
    """A Dynamics 365 GUID (any case, with or without braces).

    >>> is_dynamics_id("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}"), is_dynamics_id("18003165910")
    (True, False)
    """
    return isinstance(value, str) and bool(_GUID.fullmatch(value))
