"""Everything that speaks to Alma: the REST client, MARC and OCLC handling, matching.

Nothing in this package knows about Slack.
"""
