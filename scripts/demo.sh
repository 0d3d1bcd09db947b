#!/usr/bin/env bash
# Start the WeCom simulator and the app on 127.0.0.1 with a demo school and login.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
APP_PORT=${APP_PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8001}
DEMO_PARENTS=${DEMO_PARENTS:-200}
DEMO_USER=${DEMO_USER:-admin}
DEMO_PASSWORD=${DEMO_PASSWORD:-schoolcontacts-demo}

mkdir -p var
# The demo has its own database and credentials; a .env of a real school is not used.
export IGNORE_DOTENV=on
export DEBUG=1
export ALLOWED_HOSTS=127.0.0.1,localhost
export LOG_LEVEL=WARNING
export SECRET_KEY=demo-only-not-secret-key-for-local-use-0123456789abcdef
export DATABASE_URL=${DEMO_DATABASE_URL:-sqlite:///var/demo.sqlite3}
export CACHE_URL=dbcache://schoolcontacts_cache
export WECOM_CORP_ID=wwdemoschool0001
export WECOM_SECRET=demo-app-secret
export WECOM_API_BASE=http://127.0.0.1:${SANDBOX_PORT}/cgi-bin
export WECOM_TIMEOUT=5
# Sign-in with WeCom: the simulator plays WeCom's login pages and accepts this AgentID.
export WECOM_AGENT_ID=1000002
export WECOM_LOGIN_BASE=http://127.0.0.1:${SANDBOX_PORT}
export WECOM_OAUTH_BASE=http://127.0.0.1:${SANDBOX_PORT}
# The simulator signs and encrypts the events it sends with the same secrets as the app.
export WECOM_CALLBACK_TOKEN=demo-callback-token
export WECOM_CALLBACK_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG

"$PY" manage.py migrate --noinput

"$PY" manage.py wecom_sandbox --port "$SANDBOX_PORT" --parents "$DEMO_PARENTS" --latency-ms 20 \
    --callback-url "http://127.0.0.1:${APP_PORT}/wecom/callback/" >var/sandbox.log 2>&1 &
SANDBOX_PID=$!
# One worker runs the jobs started from the admin, another WeCom's callbacks, which never wait behind a job.
"$PY" manage.py db_worker --queue-name default --worker-id demo-jobs --interval 0.5 --no-reload >var/worker.log 2>&1 &
WORKER_PID=$!
"$PY" manage.py db_worker --queue-name callbacks --worker-id demo-callbacks --interval 0.5 --no-reload \
    >var/callbacks-worker.log 2>&1 &
CALLBACKS_WORKER_PID=$!
trap 'kill $SANDBOX_PID $WORKER_PID $CALLBACKS_WORKER_PID 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 50); do
    if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $SANDBOX_PORT), 0.2)" 2>/dev/null; then
        break
    fi
    kill -0 "$SANDBOX_PID" 2>/dev/null || { cat var/sandbox.log; echo "The WeCom simulator did not start." >&2; exit 1; }
    sleep 0.2
done

# It says what the simulated school holds and why a few of its parents fail (they left on purpose);
# it exits 1 only when others failed too, and the demo starts anyway so that the job page can be read.
"$PY" manage.py demo_setup --username "$DEMO_USER" --password "$DEMO_PASSWORD" || true

cat <<MSG

  schoolcontacts demo is ready
  App:            http://127.0.0.1:${APP_PORT}/admin/
  Login:          ${DEMO_USER} / ${DEMO_PASSWORD} (the IT admin's password login)
  As a teacher:   on http://127.0.0.1:${APP_PORT}/admin/login/ press 企业微信登录, then choose
                  罗凯 (rocky), head teacher of 三年级1班, in the simulated WeCom; the first
                  sign-in creates the account (role 教师): he sees only his own families
  WeCom simulator: http://127.0.0.1:${SANDBOX_PORT}/cgi-bin (log: var/sandbox.log)
  Workers:         var/worker.log (jobs), var/callbacks-worker.log (callbacks)
  Try the parent woAAAA, or search a child's name such as 李小明. Stop with Ctrl-C.
  Edit a remark "in WeCom" and watch it arrive by callback:
    curl -X POST -d '{"remark": "李主任"}' http://127.0.0.1:${SANDBOX_PORT}/sandbox/contacts/woAAAA/follow_users/rocky

MSG

"$PY" manage.py runserver "127.0.0.1:${APP_PORT}" --noreload
