"""What a reader gets on paper or on screen, shared by the self-assessment page and the CLI: the HTML/PDF
report (:mod:`ipledge.reports.report`), its charts, the narrative, the labels of every engine code and the
two languages (zh, en) with their Babel catalogues (``reports/translations``) and Jinja templates
(``reports/templates``)."""
