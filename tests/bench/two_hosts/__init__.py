"""The two-host deployment benchmark (issue 16 item 7): run.py starts it and drives it; mix.py is
the locust traffic; floor.py the minimal page it is compared with."""
