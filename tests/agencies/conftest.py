from tests.dissemination.peers import mail_server  # noqa: F401 - an SMTP server on loopback, for emailed enrolment codes
