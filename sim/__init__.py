"""drillsim: a SimPy model of an exam-security emergency plan and its yearly drill."""
