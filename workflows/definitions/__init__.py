"""The services' process definitions. Add a module per service and list it in ``BUILTIN``."""

from __future__ import annotations

from workflows.definitions.chronic_disease import CHRONIC_DISEASE_V1
from workflows.definitions.insurance_info_change import INSURANCE_INFO_CHANGE_V1
from workflows.definitions.reimbursement import REIMBURSEMENT_V1
from workflows.definitions.remote_care_filing import REMOTE_CARE_FILING_V1

BUILTIN = (INSURANCE_INFO_CHANGE_V1, REIMBURSEMENT_V1, REMOTE_CARE_FILING_V1, CHRONIC_DISEASE_V1)
