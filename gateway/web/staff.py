"""The staff console of a region: the inbox by due date, an application with its documents, and acting on the
workflow's ``allowed_actions`` with a note."""
