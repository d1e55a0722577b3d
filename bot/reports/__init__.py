"""Reports on how the contract was kept, and purging what the reports do not need.

`figures` computes a period's rows from the database with the bot's own clock arithmetic;
`formats` lays them out as a table, CSV or JSON; `chart` draws first-response attainment;
`weekly` builds and uploads the weekly post; `purge` removes the text and the people of
long-resolved cases and leaves every figure as it was.
"""
