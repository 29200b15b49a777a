"""The tests' Slack: the stand-in with its fault hooks, and Slack's side of Socket Mode."""
