"""Remote-care filing (异地就医备案): filing records, their rules and their effect on
reimbursement (:func:`backend.filings.service.filing_effect`)."""
