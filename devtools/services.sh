#!/usr/bin/env bash
# What the platform, the tests and the bench need on this machine: RabbitMQ (with its management and shovel
# plugins), PostgreSQL and make.
# Installs them with apt-get when they are missing, starts them when they are stopped; quiet when all is well.
# Used by `make run`, `make test` (so `.ci/run`) and `make bench`.
set -euo pipefail

missing=()
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -yq "${missing[@]}"
fi

if ! rabbitmqctl -q status >/dev/null 2>&1; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached
fi
# await_startup fails at once (69) while the node is not yet known to epmd, right after -detached: ask again
for _ in $(seq 1 60); do rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 && break; sleep 1; done
rabbitmqctl -q await_startup --timeout 10
# the management plugin (notifications makes subscriber users, feed vhosts and shovels through it) and the shovel
# plugin (each region's public feed is shovelled from the platform's vhost to a vhost of its own)
enabled=$(rabbitmq-plugins -q list -e -m 2>/dev/null || true)
want=()
for plugin in rabbitmq_management rabbitmq_shovel rabbitmq_shovel_management; do
  grep -qx "$plugin" <<<"$enabled" || want+=("$plugin")
done
if [ ${#want[@]} -gt 0 ]; then
  rabbitmq-plugins -q enable "${want[@]}" >/dev/null
fi
for _ in $(seq 1 60); do
  curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1 && break
  sleep 1
done

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
