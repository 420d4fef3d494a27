#!/usr/bin/env bash
# A virtual microphone on a machine with no sound card, for the live-capture test.
#
# Starts a PulseAudio daemon (as root is fine) with one null sink as the default
# sink and that sink's monitor as the default source, then prints the value for
# PULSE_SERVER on stdout. Anything played into the sink (`paplay FILE`) is what
# a client recording from the default source, or from ALSA's `pulse` device
# (libasound2-plugins), hears. Idempotent: if the daemon already answers on the
# socket, it only prints the value. Needs: pulseaudio pulseaudio-utils
# libasound2-plugins (and libportaudio2 for quietland).
#
#   export PULSE_SERVER="$(.ci/pulse-virtual-mic.sh)"
#
# The three things that make capture reliable here (FIELD.md, "Audio capture facts"):
#   1. a silent keep-alive stream into the sink, so the sink's clock never stops;
#   2. PULSE_SERVER exported to every client (root has no XDG_RUNTIME_DIR session);
#   3. enable-memfd = no (memfd shared memory fails in some containers).
set -euo pipefail

dir="${QUIETLAND_PULSE_DIR:-/tmp/quietland-pulse}"
rate="${QUIETLAND_PULSE_RATE:-48000}"
server="unix:$dir/native"
log="$dir/pulseaudio.log"

reachable() { PULSE_SERVER="$server" timeout 5 pactl info >/dev/null 2>&1; }

mkdir -p "$dir"
chmod 700 "$dir"
# The daemon and its clients keep their cookie and state here, not in $HOME.
export XDG_RUNTIME_DIR="$dir" XDG_CONFIG_HOME="$dir/config" HOME="${HOME:-$dir}"
mkdir -p "$XDG_CONFIG_HOME/pulse"
printf 'enable-memfd = no\nautospawn = no\n' >"$XDG_CONFIG_HOME/pulse/client.conf"

if ! reachable; then
    rm -f "$dir/native" "$dir/pid"
    # -n: no default.pa (it would probe for sound cards); every module is named here.
    pulseaudio --daemonize=yes -n \
        --exit-idle-time=-1 --disallow-exit=yes --use-pid-file=no \
        --enable-memfd=no --realtime=no --high-priority=no --no-cpu-limit=yes \
        --log-target="file:$log" \
        --load="module-native-protocol-unix socket=$dir/native auth-anonymous=1" \
        --load="module-null-sink sink_name=quietland_sink rate=$rate channels=1 sink_properties=device.description=quietland-virtual-mic" \
        2>>"$log"
    for _ in $(seq 50); do reachable && break; sleep 0.1; done
    if ! reachable; then
        echo "pulse-virtual-mic: PulseAudio did not start; see $log" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
fi

PULSE_SERVER="$server" pactl set-default-sink quietland_sink
PULSE_SERVER="$server" pactl set-default-source quietland_sink.monitor

# 1. The keep-alive: endless silence into the sink, started once.
if ! { [ -f "$dir/keepalive.pid" ] && kill -0 "$(cat "$dir/keepalive.pid")" 2>/dev/null; }; then
    PULSE_SERVER="$server" setsid pacat --playback --raw --format=s16le --rate="$rate" --channels=1 \
        --device=quietland_sink --stream-name=quietland-keepalive </dev/zero >/dev/null 2>>"$log" &
    echo $! >"$dir/keepalive.pid"
fi

echo "$server"
