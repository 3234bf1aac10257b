"""Official documents (公文): templates as data, rendering, document numbers (文号), PDF, and sealing
each generated document into the instance's attachments and hash chain.

One idea a module: `kinds` (the catalogue of document kinds in `documents/`), `templates` (shipped
and uploaded template versions), `checking` (an uploaded template is untrusted input), `rendering`
(docxtpl in a sandbox), `numbering` (文号, exactly once), `pdf` (LibreOffice headless), `sealing`
(attachment + chain event), `service` (the use cases the pages call), `build_templates` (the script
that writes the shipped .docx files).
"""
