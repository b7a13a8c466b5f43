"""The pipeline's steps: ``minimize`` (reports to signals), ``offers`` (signals to offers),
``dispatch`` (offers to notifications when due, and reminders), ``handoff`` (an accepted
offer to a supporter) and ``answers``, the one agent on ``support-responses``, which hands
each answer to dispatch, the hand-offs and the evaluation figures
(``streams.evaluation.recorder``). ``streams.app`` starts them all; the domain modules take
small ports (:mod:`streams.ports`) and import no Faust."""
