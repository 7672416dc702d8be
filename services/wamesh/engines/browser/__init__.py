"""The browser engine: WhatsApp Web in Chromium, driven through Playwright and one bridge script.

`engine` (the Engine), `bridge.js` (the injected script; its module table names every WhatsApp Web
module it uses), `session` (one Chromium with its page and binding), `profile` (auth state as an
archive of the profile's IndexedDB and Local Storage), `events` (bridge messages to engine events).
"""
