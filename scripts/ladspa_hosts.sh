#!/usr/bin/env bash
# Quell's LADSPA plugin in real hosts:
#   1. analyseplugin lists both plugins;
#   2. applyplugin (ladspa-sdk) runs quell_mono over a click and over noisy espeak-ng speech, and
#      quell_stereo (linked) over that speech on two channels: the click comes out exactly
#      `latency` samples late (applyplugin does not compensate latency; the plugin's own tests check
#      its port says 479 at 48 kHz), the speech is aligned at that lag, noise alone drops by MIN_DB;
#   3. a headless PipeWire (own XDG_RUNTIME_DIR, dbus session, WirePlumber to configure and link the
#      streams) loads contrib/pipewire/quell-mic.conf pointed at the fresh .so; with no capture
#      device, the test variant makes the filter's input a sink we play into with pw-play, and
#      pw-record records the "Quell noise-suppressed microphone" source. Noise alone must drop by
#      MIN_DB; then `pw-cli set-param` lowers Strength to 12 dB live and the drop must follow.
# Installs what is missing with apt (CI runs this as root on a clean Debian). ~1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MIN_DB=20

need=()
command -v applyplugin >/dev/null || need+=(ladspa-sdk)
command -v pipewire >/dev/null || need+=(pipewire pipewire-bin)
command -v wireplumber >/dev/null || need+=(wireplumber)
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y "${need[@]}" || (apt-get update && apt-get install -y "${need[@]}")) >/dev/null
fi

echo "== build the LADSPA plugin (debug)"
cargo build -p quell-ladspa
SO="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/libquell_ladspa.so"
[ -f "$SO" ] || { echo "FAIL: $SO was not built"; exit 1; }

WORK=$(mktemp -d /tmp/quell-ladspa-hosts.XXXXXX)
PIDS=()
cleanup() {
  # Our own daemons only, by PID, newest first.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
CHECK="python3 $ROOT/scripts/ladspa_check.py"
# Control values in port order: strength, mix, gain, model, gate, threshold, hold, grace,
# speech strength, listen removed, hum removal, reverb reduction, contrast.
DEFAULTS=(100 100 0 0 0 50 200 30 100 0 0 24 0.25)

echo "== analyseplugin"
analyseplugin "$SO" > "$WORK/analyse.txt"
for label in quell_mono quell_stereo; do
  grep -q "Plugin Label: \"$label\"" "$WORK/analyse.txt" || { cat "$WORK/analyse.txt"; echo "FAIL: $label not listed"; exit 1; }
done
LATENCY=479 # 48 kHz: FFT of 480 samples, minus one (ladspa/tests/host.rs checks the port says so)

echo "== applyplugin"
espeak-ng -v en-us -s 150 -w "$WORK/speech.wav" \
  "The quick brown fox jumps over the lazy dog. Noise suppression keeps the voice clear."
$CHECK make "$WORK/speech.wav" "$WORK/noisy.wav"
$CHECK impulse "$WORK/click.wav"
applyplugin "$WORK/click.wav" "$WORK/click_out.wav" "$SO" quell_mono 0 "${DEFAULTS[@]:1}" >/dev/null
$CHECK click "$WORK/click.wav" "$WORK/click_out.wav" $LATENCY
applyplugin "$WORK/noisy.wav" "$WORK/applyplugin_out.wav" "$SO" quell_mono "${DEFAULTS[@]}" >/dev/null
$CHECK denoise "$WORK/noisy.wav" "$WORK/applyplugin_out.wav" $MIN_DB lag=$LATENCY
$CHECK stereo "$WORK/noisy.wav" "$WORK/noisy_stereo.wav"
# quell_stereo has Stereo link after Model.
applyplugin "$WORK/noisy_stereo.wav" "$WORK/applyplugin_stereo.wav" "$SO" quell_stereo \
  "${DEFAULTS[@]:0:4}" 1 "${DEFAULTS[@]:4}" >/dev/null
$CHECK denoise "$WORK/noisy.wav" "$WORK/applyplugin_stereo.wav" $MIN_DB lag=$LATENCY

echo "== PipeWire filter-chain"
export XDG_RUNTIME_DIR="$WORK/run" XDG_CONFIG_HOME="$WORK/config" XDG_STATE_HOME="$WORK/state"
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d" "$XDG_STATE_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
# The shipped config, pointed at the fresh .so, with its capture side made a sink we can feed.
sed -e "s|^\(\s*plugin\s*=\s*\).*|\1$SO|" \
    -e 's|node.passive = true|media.class = Audio/Sink|' \
    -e 's|"quell_mic.capture"|"quell_test_in"|' \
    contrib/pipewire/quell-mic.conf > "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/quell-mic.conf"
grep -q "plugin = $SO" "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/quell-mic.conf" \
  && grep -q 'media.class = Audio/Sink' "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/quell-mic.conf" \
  || { echo "FAIL: could not make the test variant of contrib/pipewire/quell-mic.conf"; exit 1; }

dbus-daemon --session --fork --address="unix:path=$WORK/dbus.sock" --print-pid=3 3>"$WORK/dbus.pid"
PIDS+=("$(cat "$WORK/dbus.pid")")
export DBUS_SESSION_BUS_ADDRESS="unix:path=$WORK/dbus.sock"
pipewire >"$WORK/pipewire.log" 2>&1 &
PIDS+=($!)
# WirePlumber configures the filter's stream ports and links pw-play/pw-record to their targets.
wireplumber >"$WORK/wireplumber.log" 2>&1 &
PIDS+=($!)

ready=0
for _ in $(seq 1 100); do
  # Captured first: under pipefail, grep -q closing the pipe early could fail the check.
  pw-link -i >"$WORK/links_in.txt" 2>/dev/null || true
  pw-link -o >"$WORK/links_out.txt" 2>/dev/null || true
  if grep -q '^quell_test_in:' "$WORK/links_in.txt" && grep -q '^quell_mic:' "$WORK/links_out.txt"; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ $ready != 1 ]; then
  echo "--- pipewire.log"; tail -20 "$WORK/pipewire.log"; echo "--- wireplumber.log"; tail -20 "$WORK/wireplumber.log"
  echo "FAIL: the Quell filter-chain did not come up in PipeWire within 20 s"
  exit 1
fi
pw-cli ls Node | grep -E 'node.name = "quell' 

# Records the Quell source while noisy.wav plays into the filter; $1 = output file.
record_through_pipewire() {
  pw-record --target quell_mic --rate 48000 --channels 1 --format s16 "$1" >"$WORK/pw-record.log" 2>&1 &
  local rec=$!
  PIDS+=($rec)
  sleep 1
  if ! timeout 60 pw-play --target quell_test_in "$WORK/noisy.wav"; then
    echo "FAIL: pw-play did not finish"
    exit 1
  fi
  sleep 1
  kill -INT $rec
  wait $rec || true
}

# Every control of the shipped config reached the plugin (filter-chain only warns on a bad name).
pw-cli enum-params quell_test_in Props > "$WORK/props.txt"
for name in "Strength (dB)" "Speech strength (dB)" "Listen removed" "Hum removal" "Reverb reduction (dB, 24 = full)" \
  "Contrast (0 = the model's gains)"; do
  grep -qF "\"quell:$name\"" "$WORK/props.txt" \
    || { grep -F '"quell:' "$WORK/props.txt"; echo "FAIL: filter-chain has no control \"quell:$name\""; exit 1; }
done
record_through_pipewire "$WORK/pipewire_out.wav"
$CHECK denoise "$WORK/noisy.wav" "$WORK/pipewire_out.wav" $MIN_DB

echo "== PipeWire: Strength to 12 dB with pw-cli, live"
pw-cli set-param quell_test_in Props '{ params = [ "quell:Strength (dB)" 12.0 ] }' >/dev/null
pw-cli enum-params quell_test_in Props > "$WORK/props12.txt"
grep -A1 '"quell:Strength (dB)"' "$WORK/props12.txt" | grep -q 'Float 12.0' \
  || { echo "FAIL: Strength did not change"; exit 1; }
record_through_pipewire "$WORK/pipewire_out12.wav"
$CHECK denoise "$WORK/noisy.wav" "$WORK/pipewire_out12.wav" 10 max=14

echo "== LADSPA hosts: all passed"
