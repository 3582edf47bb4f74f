"""Reports: plots of trace signals, the HTML summary, allure attachments."""
