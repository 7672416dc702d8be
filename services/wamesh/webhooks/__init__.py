"""Webhook delivery: outbox rows -> a Redis stream (taskiq's format) -> signed POST, nothing lost.

    session worker --commit outbox row--> producer.kick(id) --XADD--> stream WEBHOOK_QUEUE_NAME
    webhook worker (wamesh worker): consumer (XREADGROUP) -> deliver(ids) -> claim -> POST -> record

Modules: `signing` (Standard Webhooks), `stream` (task name, consumer group, limits), `consumer`
(the worker's reads of the stream, a batch at a time), `processes` (`--processes N`),
`producer` (kick committed rows with a plain XADD; used by session workers and replay; keeps
what Redis refuses until it answers), `intake` and `slots`
(batched claims within the concurrency), `lanes` (each line's places, and its kicked rows waiting
for one), `circuit` (a circuit per endpoint: one attempt at a time until it answers, paused with
back-off after failures in a row), `holds` (lines whose rows wait in a live worker's memory),
`outcomes` (batched outcome writes), `policy` (which responses retry, back-off), `safety`
(refuse non-public addresses at connect time), `delivery` (one attempt of one row),
`reconciler` (re-kick rows nobody is working on), `worker` (the process).
Replay (redeliver one, or all failed since a time) lives in `wamesh.delivery_log`.

One kick = one attempt. A failed attempt that may be retried puts the row back to `pending` with
`next_attempt_at`; the worker kicks it again at that time, and the reconciler does if that
worker died. A row is claimed (`delivering`, `claimed_until`) before its POST, so a duplicate
kick of a claimed or finished row does nothing; an expired claim (worker killed mid-POST) is
re-kicked by the reconciler, and the receiver sees the same `webhook-id`.
"""
