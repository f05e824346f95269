"""Online reimbursement (零星报销): claims, invoice uploads and OCR, checks, calculation, payout."""
