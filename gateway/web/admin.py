"""The region admin console: services (adopt from the library, edit the standard, form and workflow with a preview,
publish, archive), the menu, the home-page widgets and the branding, staff accounts, subscriptions, and a dashboard
of volumes, SLA on time and IKM per service as charts."""
