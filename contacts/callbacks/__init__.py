"""WeCom callbacks (回调): WeCom tells the app what changed instead of the app asking.

- `crypto`: the message signature and AES encryption of WeCom's callback protocol;
- `messages`: the XML WeCom posts, parsed safely;
- `views`: the endpoint /wecom/callback/ (URL verification and events);
- `services`: storing an event once and applying it, with `roster` for roster changes;
- `selectors`: reading events back;
- `events`: the event and change type names;
- the background task that applies a stored event is `contacts.tasks.process_callback_event`.
"""
