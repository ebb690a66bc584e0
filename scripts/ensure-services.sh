#!/usr/bin/env bash
# Starts the local services the integration tests use, when they are not already answering.
# Installs missing tools from Debian's packages (restic for benchmarks, chromium for UI tests are optional).
set -uo pipefail

need_apt=()
command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
command -v mariadb-dump >/dev/null || need_apt+=(mariadb-client)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if ! mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi

for i in $(seq 1 30); do
  ok=1
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || ok=0
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || ok=0
  mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 || ok=0
  [ $ok = 1 ] && exit 0
  sleep 1
done
echo "services did not all start: PostgreSQL, Redis and MariaDB must answer on 127.0.0.1" >&2
exit 1
