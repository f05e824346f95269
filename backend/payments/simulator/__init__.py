"""A local WeChat Pay API v3 gateway (``yibao paysim``): the same HTTP protocol as WeChat.

It verifies the merchant's request signatures, signs its answers and callbacks with its own
platform RSA key (``Wechatpay-Signature``/``-Timestamp``/``-Nonce``/``-Serial``) and encrypts
callback resources with AES-256-GCM under the API v3 key (``signing``); keeps the orders and
refunds (``state``); redelivers a callback that was not answered with 2xx on WeChat's schedule
(``callbacks``); serves a daily trade bill in WeChat's CSV format (``bill``); and routes the v3
endpoints to them (``routing``).

The core, :meth:`~backend.payments.simulator.paysim.PaySimulator.handle`, is a pure request →
response function: in-process it is mounted as an ``httpx`` transport under the real adapter;
``yibao paysim`` serves it over HTTP. "The user pays" is ``PaySimulator.pay`` (or
``POST /sim/pay/{out_trade_no}``).
"""
