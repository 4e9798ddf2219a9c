"""Apply for a service in the browser (GOV.UK pattern): the form generated from the published service definition,
a few questions per page, a check-your-answers page, then a confirmation page with the tracking number."""
