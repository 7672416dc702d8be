"""Reminders: scheduled messages, sent by the line's own worker, never lost, never sent twice.

`service` holds what the gateway's API calls (create, list, get, edit, cancel); `runner` runs
inside a session worker and sends its own line's due reminders; `model` is the row and its JSON
and wire forms; `schedule` computes the next occurrence of a repeating reminder.
"""
