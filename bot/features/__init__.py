"""The App's features: each module owns a ``gidgethub.routing.Router`` named ``router``.

Every module here is discovered by :func:`bot.routing.discover_features` and composed by
``dlcm serve``. See ``bot/routing.py`` for the handler signature.
"""
