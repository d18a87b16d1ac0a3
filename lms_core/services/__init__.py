"""Services: plain functions with keyword-only options that take a Session.

The caller owns the transaction (``with factory.begin() as session:``), so a
service can be combined with others in one atomic unit of work.
"""
