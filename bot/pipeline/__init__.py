"""The pipeline every command flows through: intake, worker, sender, and their policies.

``assembly`` builds it from configuration and hands work in (``submit_event``); ``worker``
runs commands from the inbox and sends replies from the outbox; ``loop`` keeps a worker's
slots busy; ``delivery`` is the contract a platform's sender meets; ``rate_gate`` paces
writes across replicas. Invariants live in each module's docstring.
"""
