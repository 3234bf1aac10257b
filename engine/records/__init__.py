"""Records (档案与登记): what the discipline office keeps about people outside any one campaign —
the standing registers (红包上缴登记, seed 000) and, in time, each person's integrity file (廉政档案).

A register is a process like any other (its entries are instances of `processes/*.bpmn`, its fields
forms); this room reads them back as the register's rows and figures.
"""
