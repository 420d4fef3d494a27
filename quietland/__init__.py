"""quietland: an audio landing meter for plyometric drills.

It listens to a microphone or reads a recording, finds every landing, counts
reps by drill rules, and measures loudness and rhythm. Importing the package
is cheap: it pulls in no sound-file, audio-device or UI library; those are
imported by the modules that need them, when they are used.
"""

__version__ = "0.1.0"
