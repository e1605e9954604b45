"""`pmr serve --share`: a folder of sessions served to the local network behind a secret token,
with the feed, index page and playlists made for the address they are served at, and a QR code
of the index page for a phone's camera.

store: the per-folder token and podcast:guid · throttle: slowing down wrong tokens ·
site: the generated documents · subscribe: podcast app links · qr: the code, drawn.
"""
