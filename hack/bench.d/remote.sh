# shellcheck shell=bash
# hack/bench section "remote", sourced by hack/bench (which defines row, note, interleave, the staged tree).

# A second clone on a new machine: new _output, empty Go cache. Cold builds everything; warm fetches the
# binaries from a shared cache (a local nginx with WebDAV, filled by one release) and builds nothing.
section_remote() {
  make_workspace
  hack/install-deps.sh nginx >/dev/null
  local ngx=$work/nginx url="" port try
  for try in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    rm -rf "$ngx" && mkdir -p "$ngx/root" "$ngx/tmp" "$ngx/logs"
    cat >"$ngx/nginx.conf" <<CONF
$([ "$(id -u)" -eq 0 ] && echo "user root;")
master_process off;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $ngx/root;
    client_max_body_size 0;
    location / { dav_methods PUT; create_full_put_path on; }
  }
}
CONF
    if nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/logs/error.log" 2>/dev/null; then url=http://127.0.0.1:$port; break; fi
  done
  [ -n "$url" ] || { log "remote: nginx did not start"; cat "$ngx/logs/error.log" >&2; exit 1; }
  for try in $(seq 50); do [ -s "$ngx/nginx.pid" ] && break; sleep 0.1; done
  stop_nginx() { [ -s "$ngx/nginx.pid" ] && kill "$(cat "$ngx/nginx.pid")" 2>/dev/null || true; }
  trap stop_nginx EXIT
  # Each run gets new directories; removing the last run's Go cache (hundreds of MB) is not timed.
  clone_fresh() {
    clone=$work/remote-runs/$(date +%s%N)   # runs are timed in subshells: no counter survives
    mkdir -p "$clone-gocache" && git clone -q "$ws" "$clone"
  }
  run_remote_cold() { clone_fresh; (cd "$clone" && KBUILD_GOCACHE=$clone-gocache "$kbuild" release); }
  run_remote_warm() {
    clone_fresh
    (cd "$clone" && KBUILD_GOCACHE=$clone-gocache "$kbuild" release --remote-cache "$url" | tee "$work/remote-warm.log")
  }
  rm -rf "$work/remote-runs"
  log "remote: filling $url"
  clone_fresh
  (cd "$clone" && "$kbuild" release --remote-cache "$url" >/dev/null)
  log "remote: $reps reps"
  interleave remote_cold remote_warm
  grep -q '^build: 0 built' "$work/remote-warm.log" || { log "remote: the warm release built something"; cat "$work/remote-warm.log" >&2; exit 1; }
  stop_nginx
  trap - EXIT
  rm -rf "$work/remote-runs"
  local cold warm pct status
  cold=$(time_of remote_cold) warm=$(time_of remote_warm)
  pct=$(awk -v w="$warm" -v c="$cold" 'BEGIN { printf "%.1f", 100 * w / c }')
  status=$(awk -v p="$pct" 'BEGIN { print (p <= 10) ? "yes" : "NO" }')
  raw_row remote "kbuild release of examples/ in a new clone, new _output, empty Go cache (a new CI machine)" "${cold}s" "-" "-" "-" "-" "-"
  raw_row remote "the same with --remote-cache filled by another clone (local nginx, WebDAV): 0 built" "${warm}s" "cold" "${cold}s" "${pct}% of cold" "≤ 10% of cold" "$status"
  note "remote: the warm run fetches and verifies the binaries ($(grep -o '[0-9]* fetched' "$work/remote-warm.log")), builds none, then writes images and tarballs locally; its release-tars are the cold run's bytes (Tests/EndToEndTests/RemoteCacheEndToEndTests.swift)"
}
