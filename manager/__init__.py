"""The manager process (``python app.py manager``): the composition root of webhook, controllers and
the status service, leader election, and the child processes that serve HTTP."""
