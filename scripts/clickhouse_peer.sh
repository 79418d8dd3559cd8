# Debian's ClickHouse 18.16 as a benchmark peer (issues #16 and #17), sourced by
# scripts/bench_logs.sh and scripts/bench_traces.sh. `clickhouse_start DIR FILES` starts a
# throwaway server as the current user — its own config file, data under DIR, bound to
# 127.0.0.1 on two free ports, the `file()` table function reading FILES — and sets
# CLICKHOUSE_URL (its HTTP interface) and CLICKHOUSE_PID; `clickhouse_stop` ends it. No system
# service is used (scripts/setup.sh bench installs the pinned package and disables its unit).

CLICKHOUSE_PIN=18.16.1+ds-7.3+b2

clickhouse_installed() {
  [ "$(dpkg-query -W -f='${Version}' clickhouse-server 2>/dev/null)" = "$CLICKHOUSE_PIN" ] \
    && [ "$(dpkg-query -W -f='${Version}' clickhouse-client 2>/dev/null)" = "$CLICKHOUSE_PIN" ]
}

clickhouse_start() {
  local dir=$1 files=$2 ports http tcp
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/format_schemas"
  # Two free ports from the kernel (closed again before the server binds them).
  ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
  read -r http tcp <<<"$ports"
  # Every part compressed with zstd (18.16 has no per-column codecs), as one would set it for
  # logs; no users but `default`, reachable from loopback only.
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/server.err.log</errorlog>
    <size>100M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>1073741824</mark_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
  <compression>
    <case>
      <method>zstd</method>
    </case>
  </compression>
</yandex>
EOF
  cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>8000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
EOF
  clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
  CLICKHOUSE_PID=$!
  CLICKHOUSE_URL="http://127.0.0.1:$http/"
  local i
  for i in $(seq 1 60); do
    if [ "$(curl -fsS "$CLICKHOUSE_URL" --data-binary 'SELECT 1' 2>/dev/null)" = 1 ]; then
      echo "peer: ClickHouse $(curl -fsS "$CLICKHOUSE_URL" --data-binary 'SELECT version()') (Debian clickhouse-server $CLICKHOUSE_PIN) on $CLICKHOUSE_URL, pid $CLICKHOUSE_PID, data in $dir"
      export CLICKHOUSE_URL CLICKHOUSE_PID
      return 0
    fi
    if ! kill -0 "$CLICKHOUSE_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "ClickHouse did not start; its log:" >&2
  tail -n 20 "$dir/log/stdout.log" "$dir/log/server.err.log" >&2 2>/dev/null || true
  return 1
}

clickhouse_stop() {
  if [ -n "${CLICKHOUSE_PID:-}" ] && kill -0 "$CLICKHOUSE_PID" 2>/dev/null; then
    kill "$CLICKHOUSE_PID"
    wait "$CLICKHOUSE_PID" 2>/dev/null || true
  fi
  CLICKHOUSE_PID=
}
