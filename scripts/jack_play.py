#!/usr/bin/env python3
"""Loop a WAV file into JACK input ports (for screenshots and live checks of the standalone).

usage: jack_play.py FILE.wav PORT [PORT ...]   (e.g. quell_standalone:input_1)
"""
import sys
import threading

import jack
import numpy as np
import soundfile as sf

audio, rate = sf.read(sys.argv[1], dtype="float32", always_2d=True)
mono = audio.mean(axis=1)
client = jack.Client("quell_player")
out = client.outports.register("out")
pos = [0]


@client.set_process_callback
def process(frames):
    buf = out.get_array()
    idx = (np.arange(frames) + pos[0]) % len(mono)
    buf[:] = mono[idx]
    pos[0] = (pos[0] + frames) % len(mono)


with client:
    for port in sys.argv[2:]:
        client.connect(out, port)
    threading.Event().wait()
