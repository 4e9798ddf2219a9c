"""The notifications service: everything that leaves the platform — in-app, email, SMS and WhatsApp messages to
people, the public CloudEvents feed, AMQP credentials and webhooks for regional systems."""
