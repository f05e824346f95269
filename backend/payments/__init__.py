"""Premium payment: orders, the WeChat Pay API v3 gateway and its simulator, exactly-once
crediting of callbacks, expiry, refunds, reconciliation and receipts."""
