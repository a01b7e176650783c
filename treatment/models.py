"""Blinatumomab treatment CRFs (debulking, cycles, intrathecal therapy, CRS, ICANS, AEs, response)."""
