# Odoo 17 with the addons' Python dependencies, installed once at build time from
# requirements.txt (the file scripts/lib.sh installs too). See docker-compose.yml.
FROM odoo:17.0

USER root
COPY requirements.txt docker/constraints.txt /tmp/spp/
# odoo:17.0 is Ubuntu jammy, whose pip (22.0) has no --break-system-packages option and
# needs none; the variable (ignored by that pip) keeps the build working on a base with a
# PEP 668 "externally managed" Python. docker/constraints.txt keeps the image's own
# python3-* packages (cryptography, passlib, requests) as they are.
RUN PIP_BREAK_SYSTEM_PACKAGES=1 pip3 install --no-cache-dir --disable-pip-version-check \
        -r /tmp/spp/requirements.txt -c /tmp/spp/constraints.txt \
    && rm -rf /tmp/spp
USER odoo
