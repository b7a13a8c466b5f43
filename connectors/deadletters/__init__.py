"""Dead letters after the fact: counting them by topic and reason, and sending the records
they point at through the worker again once the cause is fixed."""
