"""The Slack bot: Slack-independent parts (``blocks``, ``policy``), the ``Answerer`` it asks (``answerer``), and
the slack-bolt app with its listeners (``bot``). The service mounts it at ``/slack/events``; ``askdocs slack``
runs it in Socket Mode against a running service.
"""
