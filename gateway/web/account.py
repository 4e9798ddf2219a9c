"""A citizen's own pages: register, sign in and out, my applications with their timeline and SLA, the issued
document, the SKM survey, the notification inbox, and tracking an application by its number without signing in."""
