"""Letters (issue 6 §5, issue 7 §4): what an e-mail says and how it is rendered.

- `model`: the letter as data (Letter, Item, Recipient, Signature, Delivery);
- `build`: a letter's items (outbox rows) and the cycle's records → the Letter, with the
  obligations' state *now*;
- `render`: Letter → Jinja2 text and HTML → `EmailMessage` (headers encoded once, a
  Message-ID derived from the letter's key).
"""
