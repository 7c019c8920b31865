"""Data for the explorer, one concept per module.

text_corpus  byte-level English corpus (Wikipedia leads, World English Bible, Shakespeare)
collision    the object-collision task (method doc, section 11)
corridor     the corridor teaching task: a cue, many distractors, a query
"""
