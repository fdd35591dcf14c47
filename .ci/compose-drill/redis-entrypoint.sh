#!/bin/sh
# Like the official image: a redis-server started without a config file turns
# protected mode off (the official build changes that default), otherwise it
# refuses every client that is not on loopback.
if [ "$1" = redis-server ]; then
  set -- "$@" --protected-mode no
fi
exec "$@"
