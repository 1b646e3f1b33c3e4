#!/usr/bin/env bash
# Makes sure the test PostgreSQL answers: starts the local cluster when it is down and creates
# the `test` database when it is missing. Exits non-zero only under CI=true, where the
# PostgreSQL half of the test suite is mandatory; elsewhere the tests skip it with a message.
set -u
url="${SYNCKIT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

answers() { pg_isready -q -d "$url" 2>/dev/null || psql "$url" -Atc 'select 1' >/dev/null 2>&1; }

if ! answers; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      echo "ensure-postgres: starting PostgreSQL $version"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 || true
    done
    for _ in $(seq 1 30); do answers && break; sleep 1; done
  fi
fi

if ! answers && command -v psql >/dev/null 2>&1; then
  # The server may be up without the `test` database.
  admin="${url%/*}/postgres"
  if psql "$admin" -Atc 'select 1' >/dev/null 2>&1; then
    psql "$admin" -c 'CREATE DATABASE test' >/dev/null 2>&1 || true
  fi
fi

if answers; then
  echo "ensure-postgres: PostgreSQL answers"
  # A test drops its schema when it passes; one that panicked left it behind. This runs
  # before the test command starts any test, so every test schema found here is stale.
  stale=$(psql "$url" -Atc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'synckit\_test\_%'" 2>/dev/null || echo 0)
  if [ "${stale:-0}" != "0" ]; then
    psql "$url" -q -c "DO \$\$DECLARE s text; BEGIN
      FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'synckit\_test\_%' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
      END LOOP; END\$\$;" >/dev/null 2>&1 || true
    echo "ensure-postgres: dropped $stale test schemas left by earlier runs"
  fi
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "ensure-postgres: PostgreSQL does not answer at the test URL; it is required under CI=true" >&2
  exit 1
fi
echo "ensure-postgres: PostgreSQL does not answer; its tests will be skipped" >&2
exit 0
