"""Online reimbursement (零星报销): claims, invoice uploads and OCR, checks, calculation, payout.

Flow: ``drafts.create_claim`` (citizen for themselves or a family member they may act for; a
station clerk for a citizen) → ``drafts.add_invoice`` (validated, stored, fingerprinted; OCR
enqueued after the commit, its reading stored by ``ocr_results``) → ``submission.submit_claim``
(the bank account, then a ``reimbursement`` case: front-desk acceptance, review) →
``review.confirm_invoice`` by the reviewer holding the task (the confirmed values are stored next
to the proposal; when every invoice is confirmed the amount is computed and the required review
levels set) → the engine's decisions; ``payout.after_transition`` creates the disbursement on
approval and releases the invoices on rejection or withdrawal. ``views`` is what each side reads.

The invoice identity (code + number, ``invoices``) is registered when the claim is submitted (from
the reading) or when OCR finishes for a submitted claim, and again when a reviewer confirms it; a
unique constraint makes "already claimed anywhere" a database fact, not a race.
"""
