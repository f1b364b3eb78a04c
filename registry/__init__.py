"""Registry: the people and things the platform keeps.

Accounts, audit log, nurses, visit requests and geography, with the services that own their rules.
"""
