#!/usr/bin/env bash
# Upload throughput and the server's memory while it receives a 100 MB video.
#
#   bench/upload.sh [--runs 5] [--size-mb 100]
#
# Starts `herald serve` (build-release/herald, embedded SQLite, fresh data folder) on loopback,
# makes a video of about --size-mb with Debian's ffmpeg (kept in bench/results/ for the next
# run), uploads it --runs times with curl (POST /api/v1/media, multipart), deleting the item
# after each upload so every run stores the file anew, and prints one JSON line: MB/s per run
# and their median (curl's time from the first byte sent to the answer: receiving, checking
# the whole video, hashing, thumbnail, storing), the server's resident memory before the first
# upload and its peak (VmHWM) after the last. Needs ffmpeg (apt-get install ffmpeg) once.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=5
SIZE_MB=100
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:?}; shift 2 ;;
    --size-mb) SIZE_MB=${2:?}; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

HERALD=build-release/herald
[ -x "$HERALD" ] || { echo "build it first: cmake --build build-release --target herald" >&2; exit 1; }
command -v ffmpeg > /dev/null || { echo "needs ffmpeg: apt-get install -y ffmpeg" >&2; exit 1; }
mkdir -p bench/results
VIDEO=bench/results/upload-${SIZE_MB}mb.mp4
if [ ! -s "$VIDEO" ]; then
    # Noise compresses badly, so the bit rate decides the size: SIZE_MB over 20 seconds.
    RATE=$((SIZE_MB * 8 * 1024 / 20))
    echo "making $VIDEO (${SIZE_MB} MB of 720p noise; once)" >&2
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "nullsrc=s=1280x720:r=25,geq=random(1)*255:128:128" \
        -t 20 -c:v libx264 -preset ultrafast -b:v ${RATE}k -maxrate ${RATE}k -bufsize ${RATE}k \
        -pix_fmt yuv420p -movflags +faststart "$VIDEO"
fi
BYTES=$(stat -c %s "$VIDEO")

DATA=$(mktemp -d /tmp/herald-upload-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$HERALD" serve --listen 127.0.0.1:$PORT --data-dir "$DATA" --log-level warn > "$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2> /dev/null; wait $PID 2> /dev/null; rm -rf "$DATA"' EXIT
URL=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf $URL/healthz > /dev/null && break; sleep 0.1; done

TOKEN=$(curl -sf -X POST $URL/api/v1/auth/register -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"a long password","name":"Bench"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

RATES=()
for i in $(seq "$RUNS"); do
    OUT=$(curl -s -o "$DATA/answer.json" -w '%{http_code} %{time_total}' -X POST $URL/api/v1/media \
        -H "Authorization: Bearer $TOKEN" -F "files=@$VIDEO")
    CODE=${OUT%% *}
    SECONDS_TAKEN=${OUT#* }
    [ "$CODE" = 201 ] || { echo "upload $i answered $CODE: $(cat "$DATA/answer.json")" >&2; exit 1; }
    ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["id"])' "$DATA/answer.json")
    curl -sf -X DELETE $URL/api/v1/media/$ID -H "Authorization: Bearer $TOKEN" > /dev/null
    RATE=$(python3 -c "print(round($BYTES / 1048576 / $SECONDS_TAKEN, 1))")
    echo "upload $i: $BYTES bytes in $SECONDS_TAKEN s: $RATE MB/s" >&2
    RATES+=("$RATE")
done
PEAK=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
LEFT=$(find "$DATA/media" -type f | wc -l)

python3 - "$BYTES" "$RSS_BEFORE" "$PEAK" "$LOAD_START" "$LOAD_END" "$LEFT" "${RATES[@]}" <<'EOF' | tee -a bench/results/upload.jsonl
import json, statistics, sys, time
size, before, peak, load_start, load_end, left = sys.argv[1:7]
rates = [float(r) for r in sys.argv[7:]]
print(json.dumps({
    "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "file_bytes": int(size),
    "mb_per_s": rates,
    "median_mb_per_s": statistics.median(rates),
    "rss_before_mb": round(int(before) / 1024, 1),
    "peak_rss_mb": round(int(peak) / 1024, 1),
    "files_left_after_deletes": int(left),
    "load_average_start": load_start,
    "load_average_end": load_end,
}))
EOF
